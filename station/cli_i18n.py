"""Click's own words (usage, headings, its error messages) in Chinese, for ``station`` and
``township``. Click wraps them in gettext's ``_``/``ngettext``; we give those a table. Anything not
in the table stays as Click wrote it."""
from __future__ import annotations

MESSAGES = {
    "Usage:": "用法:", "Options": "选项", "Commands": "命令", "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。", "Show the version and exit.": "显示版本并退出。",
    "Error: {message}": "错误:{message}", "Try '{command} {option}' for help.": "输入“{command} {option}”查看帮助。",
    "No such command {name!r}.": "没有命令 {name!r}。", "No such option {name!r}.": "没有选项 {name!r}。",
    "Missing option": "缺少选项", "Missing argument": "缺少参数", "Missing parameter": "缺少参数",
    "Missing parameter: {param_name}": "缺少参数:{param_name}", "Missing {param_type}": "缺少{param_type}",
    "Missing command.": "缺少子命令。", "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效:{message}",
    "Invalid value: {message}": "值无效:{message}", "Option {name!r} does not take a value.": "选项 {name!r} 不需要值。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的数字。", "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。", "{name} {filename!r} is a directory.": "{name} {filename!r} 是文件夹。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件。", "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    "file": "文件", "path": "路径", "directory": "文件夹", "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}:{message}",
    "Aborted!": "已取消。", "Repeat for confirmation": "请再输入一次", "Error: The two entered values do not match.": "错误:两次输入不一致。",
    "Error: invalid input": "错误:输入无效", "default: {default}": "默认:{default}", "env var: {var}": "环境变量:{var}",
    "Do you want to continue?": "是否继续?", "Press any key to continue...": "按任意键继续…", "Choose from:\n\t{choices}": "可选:\n\t{choices}",
    "required": "必填",
}
PLURALS = {
    "Did you mean {possibility}?": ("您是不是要输入 {possibility}?", "(您是不是要输入以下之一:{possibilities}?)"),
    "Got unexpected extra argument ({args})": ("多余的参数({args})", "多余的参数({args})"),
    "Option {name!r} requires an argument.": ("选项 {name!r} 需要一个值。", "选项 {name!r} 需要 {nargs} 个值。"),
    "{value!r} is not {choice}.": ("{value!r} 不是 {choice}。", "{value!r} 不在可选范围 {choices} 之内。"),
    "{value!r} does not match the format {format}.": ("{value!r} 不符合格式 {format}。", "{value!r} 不符合格式 {formats} 中的任何一种。"),
    "Takes {nargs} values but 1 was given.": ("需要 {nargs} 个值,只给了 1 个。", "需要 {nargs} 个值,给了 {len} 个。"),
}


def _(message: str) -> str:
    return MESSAGES.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    zh = PLURALS.get(singular)
    if zh is None:
        return singular if n == 1 else plural
    return zh[0] if n == 1 else zh[1]


def install() -> None:
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.termui
    import click.types
    import click.utils
    for module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.termui, click.types, click.utils):
        if hasattr(module, "_"):
            module._ = _
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext



