"""DynamoDB's single-item semantics: attribute values, expressions, and a one-region table."""
