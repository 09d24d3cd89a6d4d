from station.catalog import shipped_catalog
from station.core.catalog_search import find_items, initials

ITEMS = shipped_catalog().items


def names(q):
    return [i.name for i in find_items(ITEMS, q)]


def test_initials():
    assert initials("最低生活保障申请") == "zdshbzsq"
    assert initials("残疾人证(A)") == "cjrz(a)"


def test_pinyin_abbreviation_finds_dibao_first():
    assert names("dbsq")[0] == "最低生活保障申请"
    assert names("zdsh")[0] == "最低生活保障申请"


def test_chinese_fragment_and_code():
    assert names("宅基地") == ["农村宅基地和建房(规划许可)审批"]
    assert names("mz-003") == ["临时救助申请"]
    assert set(names("养老")) >= {"城乡居民基本养老保险参保登记", "城乡居民基本养老保险待遇领取申请"}


def test_nothing_and_everything():
    assert names("qqqqqq") == []
    assert len(find_items(ITEMS, "")) == min(30, len(ITEMS))
