DROP TABLE safeguarding_leads;
