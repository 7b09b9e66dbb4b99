DROP TABLE access_request_events;
DROP TABLE access_requests;
