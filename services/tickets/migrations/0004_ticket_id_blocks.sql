-- One NEXTVAL reserves a block of 32 ticket ids, so concurrent creates that
-- share one allocation round trip (common::BatchedRecordNumbers, batches of
-- up to 32) each get their own id. Unused ids of a block are skipped.
ALTER SEQUENCE ticket_ids INCREMENT BY 32;
