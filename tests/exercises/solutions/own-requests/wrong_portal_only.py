"""Wrong: only the portal uses the version pattern; the retention job claims no version."""

REQUESTS = [
    {
        "at": "14:07:12.140", "region": "eu-west-1", "client": "portal",
        "UpdateItem": {
            "TableName": "subscribers",
            "Key": {"subscriber_id": {"S": "sub_42"}},
            "UpdateExpression": "SET delivery_address = :addr, #v = :new_v",
            "ConditionExpression": "#v = :expected_v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":addr": {"S": "12 High Street, London"},
                                          ":expected_v": {"N": "17"}, ":new_v": {"N": "18"}},
        },
    },
    {
        "at": "14:07:12.189", "region": "us-east-1", "client": "retention-job",
        "UpdateItem": {
            "TableName": "subscribers",
            "Key": {"subscriber_id": {"S": "sub_42"}},
            "UpdateExpression": "SET last_contacted = :t",
            "ExpressionAttributeValues": {":t": {"S": "2026-12-22T14:07:12.189Z"}},
        },
    },
]
