// Command image builds Healthcore's container image without a Docker daemon: the static
// healthcore binary on an empty base, with a CA bundle, the passwd and group entries of
// the non-root user 65532, labels and one entrypoint — the image deploy/Dockerfile
// builds on distroless/static:nonroot. It writes a docker-loadable tarball and an OCI
// layout directory. The image is reproducible: the same binary, version, revision and
// creation time (SOURCE_DATE_EPOCH) give the same digest.
//
//	go run ./deploy/image -binary bin/healthcore -version v1.2.3 -revision <sha> \
//	    -tar bin/healthcore-image.tar -oci bin/oci
package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"

	"github.com/google/go-containerregistry/pkg/name"
)

// The image's fixed layout, shared with deploy/Dockerfile (distroless/static:nonroot).
const (
	Entrypoint = "/healthcore"
	User       = "65532:65532"
	UID        = 65532
	HomeDir    = "/home/nonroot"
	CABundle   = "/etc/ssl/certs/ca-certificates.crt"
)

// Options say what goes into the image.
type Options struct {
	Binary   []byte    // the static linux healthcore binary
	Arch     string    // GOARCH of Binary: amd64 or arm64
	Version  string    // org.opencontainers.image.version, and the tarball's tag
	Revision string    // org.opencontainers.image.revision (the commit)
	Source   string    // org.opencontainers.image.source; the label is left out when empty
	Created  time.Time // the image's creation time and every file's mtime
}

var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// Build assembles the image: a base layer (passwd, group, CA bundle, /tmp, the user's
// home) and a layer holding the binary, on an empty image.
func Build(o Options) (v1.Image, error) {
	if err := checkStatic(o.Binary, o.Arch); err != nil {
		return nil, err
	}
	if o.Version == "" || o.Revision == "" {
		return nil, errors.New("image: -version and -revision are required")
	}
	created := o.Created.UTC().Truncate(time.Second)
	ca, err := caBundle()
	if err != nil {
		return nil, err
	}
	base, err := layer(created, []file{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, body: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:" + HomeDir + ":/sbin/nologin\n")},
		{name: "etc/group", mode: 0o644, body: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{name: "etc/nsswitch.conf", mode: 0o644, body: []byte("hosts: files dns\n")},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: CABundle[1:], mode: 0o644, body: ca},
		{name: "home/", mode: 0o755},
		{name: HomeDir[1:] + "/", mode: 0o700, uid: UID},
		{name: "tmp/", mode: 0o1777},
	})
	if err != nil {
		return nil, err
	}
	app, err := layer(created, []file{{name: Entrypoint[1:], mode: 0o555, body: o.Binary}})
	if err != nil {
		return nil, err
	}

	labels := map[string]string{
		"org.opencontainers.image.title":    "healthcore",
		"org.opencontainers.image.version":  o.Version,
		"org.opencontainers.image.revision": o.Revision,
		"org.opencontainers.image.created":  created.Format(time.RFC3339),
	}
	if o.Source != "" {
		labels["org.opencontainers.image.source"] = o.Source
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: o.Arch,
		OS:           "linux",
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			User:       User,
			Entrypoint: []string{Entrypoint},
			WorkingDir: HomeDir,
			Env:        []string{"SSL_CERT_FILE=" + CABundle},
			Labels:     labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: v1.Time{Time: created}, CreatedBy: "deploy/image: passwd, group, CA bundle, /tmp, " + HomeDir}},
		mutate.Addendum{Layer: app, MediaType: types.OCILayer, History: v1.History{
			Created: v1.Time{Time: created}, CreatedBy: "deploy/image: " + Entrypoint + " " + o.Version}},
	)
}

// checkStatic refuses what would not run on an empty base: not a linux ELF executable
// for arch, or one asking for a dynamic loader (built with cgo).
func checkStatic(bin []byte, arch string) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("image: the binary is not an ELF executable: %w", err)
	}
	if m, ok := elfMachine[arch]; !ok || f.Machine != m {
		return fmt.Errorf("image: the binary is for %v, not %s (set -arch or GOARCH)", f.Machine, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("image: the binary is dynamically linked; build it with CGO_ENABLED=0")
		}
	}
	return nil
}

// caBundle is the Mozilla (NSS) root store as PEM, from the pinned
// golang.org/x/crypto/x509roots/fallback module: the same bytes on every machine.
// Roots NSS constrains (distrusted after a date) are left out, since a PEM file
// cannot carry the constraint.
func caBundle() ([]byte, error) {
	var b bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		if _, err := x509.ParseCertificate(r.Certificate); err != nil {
			return nil, fmt.Errorf("image: CA bundle: %w", err)
		}
		if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

type file struct {
	name string // relative; directories end in /
	mode int64
	uid  int
	body []byte
}

// layer makes an uncompressed tar of files with fixed owners and times, so that the
// same files give the same layer digest.
func layer(mtime time.Time, files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.uid,
			ModTime: mtime, Format: tar.FormatPAX, Typeflag: tar.TypeReg, Size: int64(len(f.body)),
		}
		if f.name[len(f.name)-1] == '/' {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// tagRE is what a tag may be; a version like v1.2.3+dirty is mapped into it.
var tagRE = regexp.MustCompile(`[^\w.-]`)

// Write saves img as a docker-loadable tarball (tarPath) tagged repo:version, and as
// an OCI layout directory (ociDir, replaced) whose one image is named repo:version.
func Write(img v1.Image, repo, version, tarPath, ociDir string) error {
	tag, err := name.NewTag(repo+":"+tagRE.ReplaceAllString(version, "_"), name.WeakValidation)
	if err != nil {
		return fmt.Errorf("image: tag: %w", err)
	}
	if tarPath != "" {
		if err := tarball.WriteToFile(tarPath, tag, img); err != nil {
			return err
		}
	}
	if ociDir != "" {
		if err := os.RemoveAll(ociDir); err != nil {
			return err
		}
		p, err := layout.Write(ociDir, empty.Index)
		if err != nil {
			return err
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": tag.TagStr(),
		})); err != nil {
			return err
		}
	}
	return nil
}

// Size is the image's size as pushed: the compressed layers, the config and the manifest.
func Size(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	n := m.Config.Size + int64(len(raw))
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}

func main() {
	var (
		o                       Options
		binary, tarPath, ociDir string
		repo, created           string
	)
	flag.StringVar(&binary, "binary", "bin/healthcore", "the static healthcore binary (CGO_ENABLED=0)")
	flag.StringVar(&o.Arch, "arch", envOr("GOARCH", "amd64"), "the binary's GOARCH")
	flag.StringVar(&o.Version, "version", "", "the version (label and tag)")
	flag.StringVar(&o.Revision, "revision", "", "the commit (label)")
	flag.StringVar(&o.Source, "source", "", "the repository URL (label; left out when empty)")
	flag.StringVar(&created, "created", os.Getenv("SOURCE_DATE_EPOCH"), "creation time, Unix seconds (default $SOURCE_DATE_EPOCH)")
	flag.StringVar(&repo, "repo", "healthcore", "the image's repository name in the tarball and the layout")
	flag.StringVar(&tarPath, "tar", "bin/healthcore-image.tar", "write a docker-loadable tarball here (empty: none)")
	flag.StringVar(&ociDir, "oci", "bin/oci", "write an OCI layout directory here (empty: none)")
	flag.Parse()
	if err := run(o, binary, created, repo, tarPath, ociDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(o Options, binary, created, repo, tarPath, ociDir string) error {
	secs, err := strconv.ParseInt(created, 10, 64)
	if err != nil {
		return fmt.Errorf("image: -created (or SOURCE_DATE_EPOCH) must be Unix seconds, got %q", created)
	}
	o.Created = time.Unix(secs, 0)
	if o.Binary, err = os.ReadFile(binary); err != nil {
		return err
	}
	img, err := Build(o)
	if err != nil {
		return err
	}
	if err := Write(img, repo, o.Version, tarPath, ociDir); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	n, err := Size(img)
	if err != nil {
		return err
	}
	fmt.Printf("image %s:%s %s, %.1f MiB compressed → %s %s\n",
		repo, o.Version, d, float64(n)/(1<<20), tarPath, ociDir)
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
