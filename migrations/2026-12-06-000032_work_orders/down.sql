DROP TABLE work_order_settings;
DROP TABLE work_order_comments;
DROP TABLE work_order_documents;
DROP TABLE work_order_differences;
DROP TABLE work_orders;
