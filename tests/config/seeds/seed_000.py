import dlt
from dlt.sources.rest_api import rest_api_source

source = rest_api_source({
    "client": {
        "base_url": "https://api.example.com/v1",
        "auth": {
            "type": "basic",
            "username": dlt.secrets["username"],
            "password": dlt.secrets["password"]
        }
    },
    "resource_defaults": {
        "primary_key": "id",
        "write_disposition": "merge"
    },
    "resources": [
        {
            "name": "organizations",
            "endpoint": {
                "path": "/organizations",
                "data_selector": "data"
            }
        },
        {
            "name": "organization_members",
            "endpoint": {
                "path": "/organizations/{organizationId}/members",
                "data_selector": "data"
            }
        },
        {
            "name": "products",
            "endpoint": {
                "path": "/products",
                "data_selector": "data"
            }
        },
        {
            "name": "tags",
            "endpoint": {
                "path": "/products/{productId}/tags",
                "data_selector": "data"
            }
        },
        {
            "name": "environments",
            "endpoint": {
                "path": "/products/{productId}/environments",
                "data_selector": "data"
            }
        }
    ]
})
