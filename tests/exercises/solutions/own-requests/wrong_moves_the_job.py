"""Wrong: moves the retention job to the subscriber's home region (a different story)."""

REQUESTS = [
    {
        "at": "14:07:12.140", "region": "eu-west-1", "client": "portal",
        "UpdateItem": {
            "TableName": "subscribers",
            "Key": {"subscriber_id": {"S": "sub_42"}},
            "UpdateExpression": "SET delivery_address = :addr",
            "ExpressionAttributeValues": {":addr": {"S": "12 High Street, London"}},
        },
    },
    {
        "at": "14:07:12.189", "region": "eu-west-1", "client": "retention-job",
        "UpdateItem": {
            "TableName": "subscribers",
            "Key": {"subscriber_id": {"S": "sub_42"}},
            "UpdateExpression": "SET last_contacted = :t",
            "ExpressionAttributeValues": {":t": {"S": "2026-12-22T14:07:12.189Z"}},
        },
    },
]
