import dlt
from dlt.sources.rest_api import rest_api_source

source = rest_api_source({
    "client": {
        "base_url": "https://api.example.com",
        "auth": {
            "type": "basic",
            "username": dlt.secrets["api_token"],
            "password": dlt.secrets["api_secret"]
        }
    },
    "resource_defaults": {
        "primary_key": "id",
        "write_disposition": "merge"
    },
    "resources": [
        {
            "name": "definitions",
            "endpoint": {
                "path": "/{workspace}/definitions",
                "data_selector": "_embedded.definitions"
            }
        },
        {
            "name": "groups",
            "endpoint": {
                "path": "/{workspace}/groups",
                "data_selector": "_embedded.groups"
            }
        },
        {
            "name": "memberships",
            "endpoint": {
                "path": "/{workspace}/memberships",
                "data_selector": "_embedded.memberships"
            }
        },
        {
            "name": "spaces",
            "endpoint": {
                "path": "/{workspace}/spaces",
                "data_selector": "_embedded.spaces"
            }
        },
        {
            "name": "space_memberships",
            "endpoint": {
                "path": "/{workspace}/spaces/{space_token}/memberships",
                "data_selector": "_embedded.space_memberships"
            }
        },
        {
            "name": "groups_memberships",
            "endpoint": {
                "path": "/{workspace}/groups/{group_token}/memberships",
                "data_selector": "_embedded.group_memberships"
            }
        },
        {
            "name": "data_sources",
            "endpoint": {
                "path": "/{workspace}/data_sources",
                "data_selector": "_embedded.data_sources"
            }
        },
        {
            "name": "reports",
            "endpoint": {
                "path": "/{workspace}/data_sources/{data_source_token}/reports",
                "data_selector": "_embedded.reports"
            }
        },
        {
            "name": "report_runs",
            "endpoint": {
                "path": "/{workspace}/reports/{report_token}/runs",
                "data_selector": "_embedded.report_runs",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "start_from_page": 1
                }
            }
        },
        {
            "name": "queries",
            "endpoint": {
                "path": "/{workspace}/reports/{report_token}/queries",
                "data_selector": "_embedded.queries"
            }
        },
        {
            "name": "query_runs",
            "endpoint": {
                "path": "/{workspace}/reports/{report_token}/runs/{run_token}/query_runs",
                "data_selector": "_embedded.query_runs"
            }
        },
        {
            "name": "charts",
            "endpoint": {
                "path": "/{workspace}/reports/{report_token}/queries/{query_token}/charts",
                "data_selector": "_embedded.charts"
            }
        },
        {
            "name": "report_filters",
            "endpoint": {
                "path": "/{workspace}/reports/{report_token}/filters",
                "data_selector": "_embedded.report_filters"
            }
        },
        {
            "name": "datasets",
            "endpoint": {
                "path": "/{workspace}/spaces/{space_token}/datasets",
                "data_selector": "_embedded.reports"
            }
        },
        {
            "name": "datasets_runs",
            "endpoint": {
                "path": "/{workspace}/datasets/{dataset_token}/runs",
                "data_selector": "_embedded.report_runs",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "start_from_page": 1
                }
            }
        },
        {
            "name": "field_descriptions",
            "endpoint": {
                "path": "/{workspace}/datasets/{dataset_token}/field_descriptions",
                "data_selector": "_embedded.field_descriptions",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "start_from_page": 1
                }
            }
        },
        {
            "name": "report_schedules",
            "endpoint": {
                "path": "/{workspace}/reports/{report_token}/schedules",
                "data_selector": "_embedded.report_schedules"
            }
        },
        {
            "name": "reports_subscriptions",
            "endpoint": {
                "path": "/{workspace}/reports/{report_token}/subscriptions",
                "data_selector": "_embedded.report_subscriptions"
            }
        },
        {
            "name": "datasets_schedules",
            "endpoint": {
                "path": "/{workspace}/datasets/{dataset_token}/schedules",
                "data_selector": "_embedded.report_schedules"
            }
        }
    ]
})
