"""The decision core: what a friend's history in business time earns, as plain data.

Pure: no database, no clock, no I/O. The ingestion services load facts, call `decide_friend`,
and write what it returns; every business rule lives here.
"""
