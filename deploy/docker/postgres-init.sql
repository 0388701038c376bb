-- One database per service, each owned by its own login role (docker-compose.yml mounts
-- this file into /docker-entrypoint-initdb.d, so it runs once, on an empty data volume).
-- A service's role can connect only to its own database: a service never reads another
-- service's tables. The migrations (`migrate-…` in docker-compose.yml) run as that role.
--
-- Passwords come from the postgres container's environment (psql's \getenv). Every one is
-- checked before anything is created, so a missing one stops initialisation before it
-- starts instead of half way. Keep them URL-safe (they travel inside DATABASE_URL), e.g.
-- `openssl rand -hex 24`.
\set ON_ERROR_STOP on

\getenv ingest_password POSTGRES_INGEST_PASSWORD
\getenv validator_password POSTGRES_VALIDATOR_PASSWORD
\getenv credit_password POSTGRES_CREDIT_PASSWORD
\getenv publisher_password POSTGRES_PUBLISHER_PASSWORD
\getenv enrollment_password POSTGRES_ENROLLMENT_PASSWORD

SELECT :{?ingest_password} AND :{?validator_password} AND :{?credit_password}
   AND :{?publisher_password} AND :{?enrollment_password} AS all_passwords_set \gset
\if :all_passwords_set
\else
DO $$ BEGIN
    RAISE EXCEPTION 'set POSTGRES_INGEST_PASSWORD, POSTGRES_VALIDATOR_PASSWORD, '
        'POSTGRES_CREDIT_PASSWORD, POSTGRES_PUBLISHER_PASSWORD and POSTGRES_ENROLLMENT_PASSWORD';
END $$;
\endif

CREATE ROLE yibao_ingest LOGIN PASSWORD :'ingest_password';
CREATE DATABASE yibao_ingest OWNER yibao_ingest;
REVOKE ALL ON DATABASE yibao_ingest FROM PUBLIC;

CREATE ROLE yibao_validator LOGIN PASSWORD :'validator_password';
CREATE DATABASE yibao_validator OWNER yibao_validator;
REVOKE ALL ON DATABASE yibao_validator FROM PUBLIC;

CREATE ROLE yibao_credit LOGIN PASSWORD :'credit_password';
CREATE DATABASE yibao_credit OWNER yibao_credit;
REVOKE ALL ON DATABASE yibao_credit FROM PUBLIC;

CREATE ROLE yibao_publisher LOGIN PASSWORD :'publisher_password';
CREATE DATABASE yibao_publisher OWNER yibao_publisher;
REVOKE ALL ON DATABASE yibao_publisher FROM PUBLIC;

CREATE ROLE yibao_enrollment LOGIN PASSWORD :'enrollment_password';
CREATE DATABASE yibao_enrollment OWNER yibao_enrollment;
REVOKE ALL ON DATABASE yibao_enrollment FROM PUBLIC;
