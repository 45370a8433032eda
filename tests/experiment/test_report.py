from genmix.experiment.labels import column_label, column_labels


def test_column_label_drops_parenthesised_detail():
    assert column_label("immature granulocytes(myelocytes, metamyelocytes and promyelocytes)") == \
        "immature granulocytes"
    assert column_label("kidney (left)") == "kidney"
    assert column_label("normal") == "normal"
    assert column_label("(unnamed)") == "(unnamed)"  # nothing left: the name stays whole


def test_column_labels_stay_distinct():
    assert column_labels(["kidney (left)", "liver"]) == ["kidney", "liver"]
    # shortening would merge two columns: the full names are kept
    assert column_labels(["kidney (left)", "kidney (right)"]) == ["kidney (left)", "kidney (right)"]
