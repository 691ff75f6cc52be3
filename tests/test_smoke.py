from sequences import get_next_value


def test_first_value_is_initial_value(in_transaction):
    assert get_next_value("smoke") == 1
    assert get_next_value("smoke") == 2
