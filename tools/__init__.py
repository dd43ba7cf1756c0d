"""Developer tools that are never packaged: IAM policy rendering and checking."""
