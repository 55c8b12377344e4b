"""Small independent servers the project's own tests run the suite against."""
