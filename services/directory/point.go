package directory

import (
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// checkPoint refuses a point given with one coordinate or none (VALIDATION_FAILED
// naming the missing one): a missing coordinate would otherwise read as 0, the
// equator or the Greenwich meridian, thousands of km away. path names the point
// ("point", "profile.location.point"); a nil point passes.
func checkPoint(path string, p *directoryv1.LatLng) error {
	if p == nil {
		return nil
	}
	var v []errs.Violation
	if p.Latitude == nil {
		v = append(v, errs.Violation{Field: path + ".latitude", Description: "value is required: a point needs both latitude and longitude"})
	}
	if p.Longitude == nil {
		v = append(v, errs.Violation{Field: path + ".longitude", Description: "value is required: a point needs both latitude and longitude"})
	}
	if len(v) == 0 {
		return nil
	}
	return server.ReasonValidationFailed.New("invalid request: " + v[0].Field + ": " + v[0].Description).WithViolations(v...)
}
