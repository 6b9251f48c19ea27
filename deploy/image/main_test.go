package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const testVersion = "v0.0.0-test"

var created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// goBuild builds pkg (in dir) as make image and deploy/Dockerfile do: static, trimmed
// paths, the version in main.version.
func goBuild(t *testing.T, dir, pkg, version string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bin")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// standIn is a tiny static program with healthcore's version variable, standing in for
// the 50 MB binary so the image's checks stay fast.
func standIn(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":  "module standin\n\ngo 1.26\n",
		"main.go": "package main\n\nimport \"os\"\n\nvar version = \"dev\"\n\nfunc main() { os.Stdout.WriteString(version + \"\\n\") }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return goBuild(t, dir, ".", testVersion)
}

func options(bin []byte) Options {
	return Options{Binary: bin, Arch: runtime.GOARCH, Version: testVersion,
		Revision: "0123456789abcdef", Source: "https://example.com/healthcore", Created: created}
}

type entry struct {
	hdr  *tar.Header
	body []byte
}

// files reads the image's filesystem, every layer applied.
func files(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	m := map[string]entry{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		m[strings.TrimSuffix(h.Name, "/")] = entry{h, b}
	}
}

func TestImage_ConfigFilesAndSize(t *testing.T) {
	bin := standIn(t)
	img, err := Build(options(bin))
	if err != nil {
		t.Fatal(err)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (nonroot)", cf.Config.User)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/healthcore"}) || cf.Config.Cmd != nil {
		t.Errorf("entrypoint %q cmd %q, want [/healthcore] and no cmd", cf.Config.Entrypoint, cf.Config.Cmd)
	}
	if cf.Config.WorkingDir != "/home/nonroot" {
		t.Errorf("working directory %q", cf.Config.WorkingDir)
	}
	if !slices.Equal(cf.Config.Env, []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}) {
		t.Errorf("env %q", cf.Config.Env)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !cf.Created.Time.Equal(created) {
		t.Errorf("os %q arch %q created %v", cf.OS, cf.Architecture, cf.Created.Time)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":    "healthcore",
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.revision": "0123456789abcdef",
		"org.opencontainers.image.created":  "2026-01-02T03:04:05Z",
		"org.opencontainers.image.source":   "https://example.com/healthcore",
	}
	if !maps.Equal(cf.Config.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", cf.Config.Labels, wantLabels)
	}
	if len(cf.History) != 2 || len(cf.RootFS.DiffIDs) != 2 {
		t.Errorf("history %d entries, %d layers; want 2 and 2", len(cf.History), len(cf.RootFS.DiffIDs))
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s", mt)
	}

	fs := files(t, img)
	type want struct {
		dir      bool
		mode     int64
		uid, gid int
	}
	wantFiles := map[string]want{
		"etc": {true, 0o755, 0, 0}, "etc/passwd": {false, 0o644, 0, 0}, "etc/group": {false, 0o644, 0, 0},
		"etc/nsswitch.conf": {false, 0o644, 0, 0}, "etc/ssl": {true, 0o755, 0, 0},
		"etc/ssl/certs": {true, 0o755, 0, 0}, "etc/ssl/certs/ca-certificates.crt": {false, 0o644, 0, 0},
		"home": {true, 0o755, 0, 0}, "home/nonroot": {true, 0o700, 65532, 65532},
		"tmp": {true, 0o1777, 0, 0}, "healthcore": {false, 0o555, 0, 0},
	}
	// Exactly these files: no shell, no busybox, nothing else to run.
	if got := slices.Sorted(maps.Keys(fs)); !slices.Equal(got, slices.Sorted(maps.Keys(wantFiles))) {
		t.Errorf("the image holds %q, want exactly %q", got, slices.Sorted(maps.Keys(wantFiles)))
	}
	for _, sh := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/env"} {
		if _, ok := fs[sh]; ok {
			t.Errorf("the image has /%s", sh)
		}
	}
	for name, w := range wantFiles {
		e, ok := fs[name]
		if !ok {
			continue
		}
		h := e.hdr
		if (h.Typeflag == tar.TypeDir) != w.dir || h.Mode != w.mode || h.Uid != w.uid || h.Gid != w.gid {
			t.Errorf("/%s: type %c mode %o owner %d:%d; want dir=%v mode %o owner %d:%d",
				name, h.Typeflag, h.Mode, h.Uid, h.Gid, w.dir, w.mode, w.uid, w.gid)
		}
		if !h.ModTime.Equal(created) {
			t.Errorf("/%s: mtime %v, want the creation time %v", name, h.ModTime, created)
		}
	}
	if !bytes.Equal(fs["healthcore"].body, bin) {
		t.Error("/healthcore is not the binary given")
	}
	if !strings.Contains(string(fs["etc/passwd"].body), "\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n") {
		t.Errorf("/etc/passwd has no nonroot 65532:\n%s", fs["etc/passwd"].body)
	}
	if !strings.Contains(string(fs["etc/group"].body), "\nnonroot:x:65532:\n") {
		t.Errorf("/etc/group has no nonroot 65532:\n%s", fs["etc/group"].body)
	}

	// The CA bundle: Mozilla's roots, including the ones AWS endpoints chain to.
	var subjects []string
	rest := fs["etc/ssl/certs/ca-certificates.crt"].body
	for {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, c.Subject.CommonName)
	}
	if len(subjects) < 100 || len(bytes.TrimSpace(rest)) != 0 {
		t.Errorf("CA bundle: %d certificates, %d bytes unparsed", len(subjects), len(rest))
	}
	for _, cn := range []string{"Amazon Root CA 1", "Starfield Services Root Certificate Authority - G2", "ISRG Root X1"} {
		if !slices.Contains(subjects, cn) {
			t.Errorf("CA bundle lacks %q", cn)
		}
	}

	// The binary in the image runs and carries the stamped version.
	exe := filepath.Join(t.TempDir(), "healthcore")
	if err := os.WriteFile(exe, fs["healthcore"].body, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(exe).Output(); err != nil || string(out) != testVersion+"\n" {
		t.Errorf("the image's binary printed %q (%v), want %q", out, err, testVersion)
	}

	// Size: everything but the binary (base layer, config, manifest) stays small.
	size, err := Size(img)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	app, err := layers[1].Size()
	if err != nil {
		t.Fatal(err)
	}
	if overhead := size - app; overhead > 160<<10 {
		t.Errorf("the image adds %d bytes compressed besides the binary; want under 160 KiB", overhead)
	}
}

// TestImage_Reproducible: the same inputs give the same digest, through the tarball and
// the OCI layout too; another creation time gives another.
func TestImage_Reproducible(t *testing.T) {
	bin := standIn(t)
	digest := func(o Options) v1.Hash {
		img, err := Build(o)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first, second := digest(options(bin)), digest(options(bin))
	if first != second {
		t.Fatalf("two builds: %s and %s", first, second)
	}
	later := options(bin)
	later.Created = created.Add(time.Second)
	if d := digest(later); d == first {
		t.Errorf("a later creation time gave the same digest %s", d)
	}

	img, err := Build(options(bin))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tarPath, ociDir := filepath.Join(dir, "image.tar"), filepath.Join(dir, "oci")
	if err := os.MkdirAll(filepath.Join(ociDir, "stale"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(img, "healthcore", testVersion+"+dirty", tarPath, ociDir); err != nil {
		t.Fatal(err)
	}
	fromTar, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A docker tarball keeps the config and the layers (the manifest is remade on load):
	// the same image ID and layers.
	wantID, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if id, err := fromTar.ConfigName(); err != nil || id != wantID {
		t.Errorf("the tarball's image ID: %s (%v), want %s", id, err, wantID)
	}
	if got, want := layerDigests(t, fromTar), layerDigests(t, img); !slices.Equal(got, want) {
		t.Errorf("the tarball's layers %v, want %v", got, want)
	}
	var manifest []struct{ RepoTags []string }
	if err := json.Unmarshal(tarFile(t, tarPath, "manifest.json"), &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 1 || !slices.Equal(manifest[0].RepoTags, []string{"healthcore:" + testVersion + "_dirty"}) {
		t.Errorf("docker load would tag it %v", manifest)
	}

	idx, err := layout.ImageIndexFromPath(ociDir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != first ||
		im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != testVersion+"_dirty" {
		t.Errorf("the OCI layout's index: %+v, want one image %s", im.Manifests, first)
	}
	if _, err := os.Stat(filepath.Join(ociDir, "stale")); !os.IsNotExist(err) {
		t.Error("the OCI layout directory was not replaced")
	}
}

func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var ds []v1.Hash
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

func tarFile(t *testing.T, path, name string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s in %s: %v", name, path, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// TestImage_RefusesWhatWouldNotRun: a dynamically linked binary (cgo), another
// architecture's, or not an executable at all.
func TestImage_RefusesWhatWouldNotRun(t *testing.T) {
	bin := standIn(t)
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	cases := map[string]func(*Options){
		"another architecture": func(o *Options) { o.Arch = other },
		"not ELF":              func(o *Options) { o.Binary = []byte("#!/bin/sh\necho hi\n") },
		"no version":           func(o *Options) { o.Version = "" },
	}
	if ls, err := os.ReadFile("/bin/ls"); err == nil {
		cases["dynamically linked"] = func(o *Options) { o.Binary = ls }
	}
	for name, mod := range cases {
		o := options(bin)
		mod(&o)
		if _, err := Build(o); err == nil {
			t.Errorf("%s: built an image", name)
		}
	}
}

// TestImage_Healthcore builds the real binary as make image does and checks the image's
// size and the version command (a full, uncached build: skipped with -short).
func TestImage_Healthcore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/healthcore")
	}
	bin := goBuild(t, "../..", "./cmd/healthcore", testVersion)
	img, err := Build(options(bin))
	if err != nil {
		t.Fatal(err)
	}
	size, err := Size(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image: %.1f MiB compressed, binary %.1f MiB", float64(size)/(1<<20), float64(len(bin))/(1<<20))
	if size > 24<<20 {
		t.Errorf("the image is %.1f MiB compressed; the bound is 24 MiB", float64(size)/(1<<20))
	}
	exe := filepath.Join(t.TempDir(), "healthcore")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(exe, "version").Output(); err != nil || string(out) != testVersion+"\n" {
		t.Errorf("healthcore version printed %q (%v), want %q", out, err, testVersion)
	}
}

// TestDockerfileAgrees: deploy/Dockerfile builds the same image: the same build flags,
// entrypoint, user, working directory and environment, on a base pinned by tag.
func TestDockerfileAgrees(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{
		"CGO_ENABLED=0", "go build -trimpath", `-ldflags "-s -w -X main.version=${VERSION}"`,
		"FROM gcr.io/distroless/static-debian12:nonroot\n",
		"COPY --from=build --chmod=0555 /out/healthcore " + Entrypoint + "\n",
		"USER " + User + "\n", "WORKDIR " + HomeDir + "\n", "ENV SSL_CERT_FILE=" + CABundle + "\n",
		`ENTRYPOINT ["` + Entrypoint + `"]`,
		"org.opencontainers.image.version=", "org.opencontainers.image.revision=",
		"org.opencontainers.image.created=", "org.opencontainers.image.source=",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("deploy/Dockerfile lacks %q", want)
		}
	}
	for line := range strings.SplitSeq(df, "\n") {
		if strings.HasPrefix(line, "FROM ") && (strings.Contains(line, ":latest") || !strings.Contains(line, ":")) {
			t.Errorf("deploy/Dockerfile: %q is not pinned by tag", line)
		}
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "build -trimpath", `-ldflags "-s -w -X main.version=$(VERSION)"`} {
		if !strings.Contains(string(mk), want) {
			t.Errorf("the Makefile's image target lacks %q", want)
		}
	}
}
