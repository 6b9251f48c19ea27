package deploycheck

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ExternalSecret is the part of the External Secrets Operator's
// external-secrets.io/v1 ExternalSecret the chart uses (its CRD's schema, not
// imported to keep the operator's dependencies out); a field outside it fails the
// strict decoding, to be added here only after checking the CRD.
type ExternalSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		RefreshInterval string `json:"refreshInterval"`
		SecretStoreRef  struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"secretStoreRef"`
		Target struct {
			Name           string `json:"name"`
			CreationPolicy string `json:"creationPolicy"`
		} `json:"target"`
		DataFrom []struct {
			Extract struct {
				Key string `json:"key"`
			} `json:"extract"`
		} `json:"dataFrom"`
	} `json:"spec"`
}
