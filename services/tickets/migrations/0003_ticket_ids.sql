-- Ticket ids come from this sequence, handed out together with the record
-- number in one round trip before the ticket's transaction (rule C-5;
-- RecordNumberAllocator::NextCommittedWithId), so the transaction writes the
-- ticket, its deadlines, history and events without waiting for an id.
-- It starts above every id already stored.
CREATE SEQUENCE IF NOT EXISTS ticket_ids START WITH 1 INCREMENT BY 1 CACHE 1000;
SELECT COALESCE(MAX(id), 0) INTO @propdesk_max_ticket_id FROM tickets;
EXECUTE IMMEDIATE CONCAT('SELECT SETVAL(ticket_ids, ', @propdesk_max_ticket_id, ')');
