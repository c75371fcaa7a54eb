DROP TABLE document_instalments;
