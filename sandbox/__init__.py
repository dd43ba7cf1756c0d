"""The local AWS sandbox behind `make run`: moto as AWS, strict Cognito checks, an event pump."""
