"""What wraps every request: request id, access log, metrics, security headers, limits, JSON errors."""
