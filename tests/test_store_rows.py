"""Index rows are built in one place (store/rows.py): what the writer gathers is what the tables hold."""

from __future__ import annotations

from argusml.store import EVENT_SCHEMA, LABEL_SCHEMA, Store
from argusml.store.rows import EventRows, LabelRows


def test_event_rows_gather_across_requests_into_one_table_in_the_schema_s_order(tmp_path):
    a, b = EventRows(), EventRows()
    a.add(1, "m", "v1", "e1", 1.8e9, 1.8e9 + 1, 0.25, None, '{"country":"DE"}', None, 12.5, None)
    b.add(2, "m", "v2", "e2", 1.8e9 + 2, 1.8e9 + 3, None, "cat", None, '{"cat":0.9,"dog":0.1}', None, 500, True)
    a.extend(b)
    assert len(a) == 2 and len(b) == 1 and len(EventRows()) == 0
    t = a.table()
    assert t.schema == EVENT_SCHEMA
    assert t.to_pylist() == [
        {"seq": 1, "model": "m", "version": "v1", "id": "e1", "ts": 1.8e9, "arrival": 1.8e9 + 1, "prediction": 0.25,
         "prediction_label": None, "segment": '{"country":"DE"}', "probabilities": None, "latency_ms": 12.5,
         "status": None, "fallback": None},
        {"seq": 2, "model": "m", "version": "v2", "id": "e2", "ts": 1.8e9 + 2, "arrival": 1.8e9 + 3, "prediction": None,
         "prediction_label": "cat", "segment": None, "probabilities": '{"cat":0.9,"dog":0.1}', "latency_ms": None,
         "status": 500, "fallback": True}]
    store = Store(tmp_path)
    store.index(t)
    assert store._rows("SELECT seq, id, prediction, prediction_label, status, fallback FROM events ORDER BY seq") == [
        (1, "e1", 0.25, None, None, None), (2, "e2", None, "cat", 500, True)]
    store.close()


def test_label_rows_table_in_the_schema_s_order():
    rows = LabelRows()
    rows.add("m", None, "e1", "1", 1.8e9, 1.8e9 + 5, "joined", 1.8e9 - 60, 1.8e9 + 5, 7, None)
    rows.add("m", "v2", "e9", "3.5", 1.8e9, 1.8e9 + 5, "pending", None, None, 8, "revenue")
    t = rows.table()
    assert t.schema == LABEL_SCHEMA and len(rows) == 2
    assert t.to_pylist()[1] == {"model": "m", "version": "v2", "id": "e9", "label": "3.5", "ts": 1.8e9,
                                "arrival": 1.8e9 + 5, "state": "pending", "prediction_ts": None, "resolved_at": None,
                                "lseq": 8, "name": "revenue"}
