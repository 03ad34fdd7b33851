"""Operator commands: read and repair the pipeline's state in DynamoDB and Step Functions."""
