DROP TABLE decision_receipts;
