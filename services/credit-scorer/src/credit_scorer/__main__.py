"""`python -m credit_scorer` runs the service with settings from the environment."""

from yibao.serve import serve

from credit_scorer.app import create_app
from credit_scorer.settings import CreditSettings

if __name__ == "__main__":
    serve(create_app, CreditSettings())
