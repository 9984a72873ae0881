"""Wrong: the job expects version 16: its condition fails and the write is refused."""

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
            "UpdateExpression": "SET last_contacted = :t, #v = :new_v",
            "ConditionExpression": "#v = :expected_v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":t": {"S": "2026-12-22T14:07:12.189Z"},
                                          ":expected_v": {"N": "16"}, ":new_v": {"N": "18"}},
        },
    },
]
