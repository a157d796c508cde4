"""One JSON line per request on stdout (time, method, path, status, duration, request id), for log collectors.

The request id comes from the proxy's X-Request-ID when it sends a sane one, else is made here; it is
returned in the X-Request-ID response header so a visitor's report can be matched to its log line.
"""

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

logger = logging.getLogger("icdsite.request")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                json.dumps(
                    {
                        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "request_id": request.request_id,
                    },
                    ensure_ascii=False,
                )
            )
        return response
