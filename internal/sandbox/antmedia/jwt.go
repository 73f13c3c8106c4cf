package antmedia

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// The JWT stream token check of Ant Media Server Enterprise 3.0.x: what
// ITokenService.checkJwtToken(jwtTokenId, streamId, sessionId, type)
// decides when an application has publishJwtControlEnabled (or
// playJwtControlEnabled) set.
//
// The implementation (the Enterprise TokenService) is closed code. The
// model takes each rule from what is public, and where nothing is, it
// refuses:
//
//   - the library and the verifier: Ant-Media-Server's own JWT checks
//     (io.antmedia.filter.JWTFilter.isJWTTokenValid, tags ams-v3.0.2 and
//     ams-v3.0.3) use auth0 java-jwt, JWT.require(Algorithm.HMAC256(secret))
//     ...build().verify(token); the parent pom pins java-jwt 4.4.0. The
//     model is java-jwt 4.4.0's JWTVerifier.verify (tag 4.4.0:
//     TokenUtils.splitToken, JWTDecoder, JWTVerifier.verifyAlgorithm,
//     HMACAlgorithm.verify with CryptoHelper.verifySignatureFor,
//     JWTVerifier.BaseVerification.withClaim and assertValidInstantClaim,
//     PayloadDeserializer.getInstantFromSeconds);
//   - the claims: Ant Media's "JWT Stream Security Filter" guide
//     (ant-media-documentation docs/guides/stream-security/
//     jwt-stream-security-filter.md): HS256 with the application's
//     jwtStreamSecretKey, payload streamId, type and the expiry, and "tokenId
//     needs to match with both streamId and type"; the types are
//     Token.PUBLISH_TOKEN "publish" and Token.PLAY_TOKEN "play";
//   - the expiry: ConsoleAppRestServiceTest.testJWTStreamControl (an
//     Enterprise-only integration test in the open repository) refuses a
//     token whose expireDate (Unix seconds) has passed and one made for
//     another stream id;
//   - the secret's length: RestServiceBase.getJwtToken says the Enterprise
//     refuses to create a token when "JWT stream key is not set or it's
//     length is less than 32" (AppSettings.jwtStreamSecretKey: "Provide 32
//     character or more in length"). Whether the check refuses such a key
//     too is not public: the model refuses, being at least as strict.

// amsJWTMinSecret is the shortest jwtStreamSecretKey the Enterprise token
// service creates tokens with (RestServiceBase.getJwtToken's message).
const amsJWTMinSecret = 32

// Token types of io.antmedia.datastore.db.types.Token.
const (
	TokenPublish = "publish" // Token.PUBLISH_TOKEN
	TokenPlay    = "play"    // Token.PLAY_TOKEN
)

// ErrJWTInvalid is the cause of every refusal of CheckStreamToken; the
// wrapping error says which rule refused, in java-jwt's words.
var ErrJWTInvalid = errors.New("JWT token is not valid")

// CheckStreamToken is checkJwtToken(token, streamID, sessionId, typ) of an
// application whose jwtStreamSecretKey is secret, at wall time now: nil
// when the server lets the token publish (typ TokenPublish) or play
// (TokenPlay) the stream.
func CheckStreamToken(token, secret, streamID, typ string, now time.Time) error {
	if err := verifyJWT(token, secret, streamID, typ, now); err != nil {
		return fmt.Errorf("%w: %v", ErrJWTInvalid, err)
	}
	return nil
}

func verifyJWT(token, secret, streamID, typ string, now time.Time) error {
	if len(secret) < amsJWTMinSecret {
		return fmt.Errorf("jwtStreamSecretKey has %d characters, fewer than %d", len(secret), amsJWTMinSecret)
	}
	// JWT.decode: TokenUtils.splitToken wants exactly three parts.
	if token == "" {
		return errors.New("The token is null.")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("The token was expected to have 3 parts, but got %d.", len(parts))
	}
	header, err := jwtJSON(parts[0])
	if err != nil {
		return fmt.Errorf("The string '%s' doesn't have a valid JSON format.", parts[0])
	}
	payload, err := jwtJSON(parts[1])
	if err != nil {
		return fmt.Errorf("The string '%s' doesn't have a valid JSON format.", parts[1])
	}
	// PayloadDeserializer: exp, nbf and iat must be whole numbers when present.
	dates := map[string]*time.Time{}
	for _, claim := range []string{"exp", "nbf", "iat"} {
		v, ok := payload[claim]
		if !ok || v == nil {
			continue
		}
		f, isNum := v.(float64)
		if !isNum || f != math.Trunc(f) {
			return fmt.Errorf("The claim '%s' contained a non-numeric date value.", claim)
		}
		t := time.Unix(int64(f), 0)
		dates[claim] = &t
	}
	// JWTVerifier.verifyAlgorithm: the header's alg must be the verifier's
	// ("none", RS256, a missing alg... are refused).
	if alg, _ := header["alg"].(string); alg != "HS256" {
		return errors.New("The provided Algorithm doesn't match the one defined in the JWT's Header.")
	}
	// HMACAlgorithm.verify: HMAC-SHA256 over header "." payload as sent,
	// compared with MessageDigest.isEqual.
	sig, err := jwtDecode(parts[2])
	if err != nil {
		return errors.New("The input is not a valid base 64 encoded string.")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(mac.Sum(nil), sig) {
		return errors.New("The Token's Signature resulted invalid when verified using the Algorithm: HmacSHA256")
	}
	// The expected checks in java-jwt's order: the claims given to
	// withClaim, then exp, nbf and iat (BaseVerification.build).
	for _, c := range []struct{ name, want string }{{"streamId", streamID}, {"type", typ}} {
		v, ok := payload[c.name]
		if !ok {
			return fmt.Errorf("The Claim '%s' is not present in the JWT.", c.name)
		}
		// withClaim(name, String): claim.asString() is null unless the claim is text.
		if s, isText := v.(string); !isText || s != c.want {
			return fmt.Errorf("The Claim '%s' value doesn't match the required one.", c.name)
		}
	}
	// assertValidInstantClaim: now truncated to seconds, no leeway.
	now = now.Truncate(time.Second)
	if exp := dates["exp"]; exp != nil && !now.Before(*exp) {
		return fmt.Errorf("The Token has expired on %s.", exp.UTC().Format(time.RFC3339))
	}
	for _, claim := range []string{"nbf", "iat"} {
		if d := dates[claim]; d != nil && now.Before(*d) {
			return fmt.Errorf("The Token can't be used before %s.", d.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// jwtDecode is java.util.Base64.getUrlDecoder().decode: the URL-safe
// alphabet, padding optional.
func jwtDecode(s string) ([]byte, error) {
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.URLEncoding.DecodeString(s)
}

// jwtJSON decodes one part of a token into a JSON object.
func jwtJSON(part string) (map[string]any, error) {
	b, err := jwtDecode(part)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}
