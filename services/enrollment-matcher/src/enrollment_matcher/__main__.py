"""`python -m enrollment_matcher` runs the service with settings from the environment."""

from yibao.serve import serve

from enrollment_matcher.app import create_app
from enrollment_matcher.settings import EnrollmentSettings

if __name__ == "__main__":
    serve(create_app, EnrollmentSettings())
