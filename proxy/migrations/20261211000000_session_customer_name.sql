-- The customer's name as the partner gave it, shown on the page before the buttons.
ALTER TABLE sessions ADD COLUMN customer_name TEXT;
