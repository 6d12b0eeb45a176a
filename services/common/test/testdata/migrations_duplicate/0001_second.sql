CREATE TABLE second_table (id INT PRIMARY KEY);
