DROP TABLE data_requests;
DROP TABLE consents;
