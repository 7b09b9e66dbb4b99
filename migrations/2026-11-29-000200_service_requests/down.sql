DROP TABLE request_information;
ALTER TABLE access_requests DROP COLUMN ticket_id;
DROP TABLE service_request_messages;
DROP TABLE service_requests;
DROP SEQUENCE service_request_number_seq;
