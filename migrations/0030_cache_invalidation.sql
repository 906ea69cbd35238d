-- Every replica keeps tokens, platforms and the cover-start windows in memory (src/cache.rs).
-- These triggers tell them when a row changes, whoever changes it (an RPC, the CLI, psql):
-- the notification is sent at commit, so no replica drops its entry before the change is visible.
CREATE FUNCTION flexcover_cache_invalidate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'api_tokens' THEN
        PERFORM pg_notify('flexcover_cache', 'token:' || COALESCE(NEW.token_id, OLD.token_id));
    ELSIF TG_TABLE_NAME = 'platforms' THEN
        PERFORM pg_notify('flexcover_cache', 'platform:' || COALESCE(NEW.platform_id, OLD.platform_id));
    ELSE
        PERFORM pg_notify('flexcover_cache', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER api_tokens_invalidate_cache
    AFTER UPDATE OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION flexcover_cache_invalidate();

CREATE TRIGGER platforms_invalidate_cache
    AFTER UPDATE OR DELETE ON platforms
    FOR EACH ROW EXECUTE FUNCTION flexcover_cache_invalidate();

CREATE TRIGGER enrolment_policy_invalidate_cache
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON enrolment_policy
    FOR EACH STATEMENT EXECUTE FUNCTION flexcover_cache_invalidate();

-- Rates in force are served from memory too: any change to a rate table drops them all.
CREATE TRIGGER base_rates_invalidate_cache
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON base_rates
    FOR EACH STATEMENT EXECUTE FUNCTION flexcover_cache_invalidate();

CREATE TRIGGER rate_multipliers_invalidate_cache
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rate_multipliers
    FOR EACH STATEMENT EXECUTE FUNCTION flexcover_cache_invalidate();

CREATE TRIGGER platform_rate_classes_invalidate_cache
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON platform_rate_classes
    FOR EACH STATEMENT EXECUTE FUNCTION flexcover_cache_invalidate();

-- Claim policies too (SetClaimPolicy).
CREATE TRIGGER claim_policy_invalidate_cache
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON claim_policy
    FOR EACH STATEMENT EXECUTE FUNCTION flexcover_cache_invalidate();
