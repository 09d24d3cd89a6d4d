from station.core.bulletin import DEFAULT_RULES, NINE, Facts, checklist

FULL = {"name": "旧州镇石板村便民服务站", "address": "石板村村委会一楼", "hours": "周一至周五 8:30-17:30", "phone": "0851-33001234",
        "rules": DEFAULT_RULES, "clerks_on_duty": ["杨光明"], "one_stop": "村级可办事项当场办结,其余代办到乡镇,结果送达到户"}
FACTS = Facts(clerks_active=1, ledger_entries=3, infra_projects=0, notices_published=1, catalog_items=24)


def test_complete_profile_passes_all_nine():
    items = checklist(FULL, FACTS)
    assert [i.key for i in items] == list(NINE) and all(i.ok for i in items)


def test_each_missing_element_is_named():
    assert [i.key for i in checklist({**FULL, "phone": ""}, FACTS) if not i.ok] == ["phone"]
    rules = dict(DEFAULT_RULES, 限时办结制="")
    missing = checklist({**FULL, "rules": rules}, FACTS)
    assert [(i.key, "限时办结" in i.missing) for i in missing if not i.ok] == [("rules", True)]
    empty_board = checklist(FULL, Facts(1, 3, 0, 0, 24))
    assert [i.label for i in empty_board if not i.ok] == ["一个公示栏"]
    assert [i.key for i in checklist(FULL, Facts(1, 0, 0, 1, 24)) if not i.ok] == ["ledger"]
