-- A batch of creates (tickets/creator.h, up to 64 at a time) takes its ids
-- from one NEXTVAL, so the sequence steps by at least the batch size.
-- Unused ids of a block are skipped.
ALTER SEQUENCE ticket_ids INCREMENT BY 64;
