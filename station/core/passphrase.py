"""How strong a passphrase must be (密码强度), with the reason in Chinese and a better one.

The rules: at least ``MIN_LENGTH`` characters, not one character repeated, and a zxcvbn score of
at least ``MIN_SCORE`` (about 10⁸ guesses: with Scrypt at ~0.3 s a guess, years of one PC's work).
zxcvbn also knows the words of this context — the login name, the station code, the person's
name — so ``zhanzhang123`` or the station code twice count as easy. zxcvbn explains itself in
English; ``_reasons`` reads its matches instead and names the reason in Chinese.

Pure: no store, no I/O (``secrets`` only for the suggested passphrase).
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping

from station.errors import FieldError

MIN_LENGTH = 8
MIN_SCORE = 3
# zxcvbn's cost grows with length; nobody types a longer passphrase, and the cap keeps a pasted
# novel from stalling the unlock screen.
_ZXCVBN_MAX = 100
# Pinyin words people can picture and type; three unrelated ones and two digits make a
# suggestion that zxcvbn scores 4 and a clerk can remember.
_WORDS = ("shitou", "hehua", "yueliang", "taiyang", "xiaomai", "yumi", "dadou", "huasheng", "pingguo", "xigua",
          "putao", "taozi", "lizi", "chaye", "mianhua", "songshu", "yanzi", "huamei", "laohu", "xiongmao",
          "luotuo", "haitun", "hudie", "mifeng", "qingwa", "baiyun", "xueshan", "dahe", "xiaoxi", "shulin",
          "zhuzi", "yangliu", "guihua", "lanhua", "meihua", "juhua", "denglong", "fengzheng", "luogu", "erhu",
          "pipa", "maobi", "yantai", "zhijian", "chuanhu", "qiaoliang", "tianye", "daotian", "shuiche", "mofang",
          "yaoshi", "lazhu", "bandeng", "yizi", "wanbei", "kuaizi", "gangqin", "zuqiu", "lanqiu", "xiangqi")


def suggest() -> str:
    """A random passphrase of the kind we recommend, e.g. ``hehua-luotuo-erhu-38``."""
    words = [secrets.choice(_WORDS) for _ in range(3)]
    return "-".join(words) + f"-{secrets.randbelow(90) + 10}"


def _inputs(user_inputs: Mapping[str, str] | Iterable[str]) -> dict[str, str]:
    """Lower-cased context word → what it is (登录名, 服务站编码 …)."""
    if isinstance(user_inputs, Mapping):
        return {str(value).lower(): label for label, value in user_inputs.items() if value}
    return {str(value).lower(): "个人信息" for value in user_inputs if value}


def _matches(sequence: list[dict]) -> Iterable[dict]:
    for match in sequence:
        yield match
        yield from _matches(match.get("base_matches") or [])


def _reasons(result: dict, known: dict[str, str]) -> list[str]:
    reasons: list[str] = []

    def add(text: str) -> None:
        if text not in reasons:
            reasons.append(text)
    for m in _matches(result["sequence"]):
        pattern, dictionary = m["pattern"], m.get("dictionary_name")
        if pattern == "dictionary" and dictionary == "user_inputs":
            add(f"含有{known.get(m['matched_word'], '个人信息')}“{m['token']}”")
        elif pattern == "dictionary" and dictionary == "passwords":
            add("是常见密码")
        elif pattern == "dictionary":
            add("只是一个常见的英文单词或姓名")
        elif pattern == "spatial":
            add("是键盘上相邻的按键")
        elif pattern == "repeat":
            add("有重复的字符或片段")
        elif pattern == "sequence":
            add("是连续的字母或数字(如 abc、1234)")
        elif pattern in ("date", "regex"):
            add("含有年份或日期")
    return reasons or ["太短或太有规律"]


def problems(passphrase: str, user_inputs: Mapping[str, str] | Iterable[str] = ()) -> list[FieldError]:
    """Nothing when the passphrase is strong enough; else one ``FieldError`` saying why."""
    better = f"请换一个更长、更少见的密码,例如“{suggest()}”(几个不相关的拼音词加数字)"
    if len(passphrase) < MIN_LENGTH:
        return [FieldError("passphrase", "too_short", f"密码太短:至少需要{MIN_LENGTH}个字符。{better}")]
    if len(set(passphrase)) < 3:
        return [FieldError("passphrase", "too_simple", f"密码过于简单:请勿使用同一字符重复。{better}")]
    known = _inputs(user_inputs)
    from zxcvbn import zxcvbn  # 40 ms of dictionaries: loaded only when a passphrase is set, not by every command
    result = zxcvbn(passphrase[:_ZXCVBN_MAX], user_inputs=list(known))
    if result["score"] >= MIN_SCORE:
        return []
    return [FieldError("passphrase", "weak", f"密码太容易被猜到:{'、'.join(_reasons(result, known))}。{better}")]
