"""Prometheus metrics of the Circle rail (SDP's ``circle_api_request_*``)."""

from prometheus_client import Histogram

REQUEST_SECONDS = Histogram(
    "sdp_circle_circle_api_request_duration_seconds",
    "Circle API requests by method, endpoint and HTTP status (0: no answer)",
    ["method", "endpoint", "status_code"],
)
