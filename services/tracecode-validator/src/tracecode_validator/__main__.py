"""`python -m tracecode_validator` runs the service with settings from the environment."""

from yibao.serve import serve

from tracecode_validator.app import create_app
from tracecode_validator.settings import ValidatorSettings

if __name__ == "__main__":
    serve(create_app, ValidatorSettings())
