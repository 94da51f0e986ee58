package cli

import "net/url"

// redactRedis hides the password of a redis:// URL.
func redactRedis(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "redis://(unparsable URL)"
	}
	return u.Redacted()
}
