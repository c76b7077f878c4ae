# Thin wrapper around meson. On a fresh Debian or Ubuntu machine:
#   make demo   install what is missing, build, scan the demo servers on loopback
#   make test   the same set-up, then every test suite but package (make test-package)
# Packages are installed only when missing, as root or through sudo; otherwise the exact
# apt-get line is printed. mbedTLS 3.6 is fetched into the build folder by meson when the
# system has an older one (see docs/building.md).

BUILD ?= build
MESON_SETUP_OPTS ?=

# Build and test dependencies, by Debian package name.
BUILD_PKGS = meson ninja-build pkg-config gcc libc6-dev libuv1-dev libjansson-dev libcmocka-dev \
             libyaml-dev libc-ares-dev libsodium-dev \
             debian-archive-keyring ca-certificates
TEST_PKGS = openssl python3 python3-jsonschema valgrind clang-format nginx apache2 bind9-dnsutils \
            postfix dovecot-imapd dovecot-pop3d dovecot-managesieved dovecot-lmtpd slapd \
            postgresql mariadb-server vsftpd prosody cmark-gfm prometheus \
            prometheus-node-exporter python3-yaml chromium shellcheck mandoc zsh systemd time
# make package / test-package (dpkg-buildpackage, lintian) and make dist (static libraries)
PACKAGE_PKGS = build-essential debhelper dpkg-dev fakeroot lintian man-db
BENCH_PKGS = nginx sslscan openssl python3 ca-certificates iproute2 util-linux chromium

.PHONY: all build install uninstall package test-package dist demo test test-sanitize test-valgrind deps test-deps clean format bench bench-names bench-hello \
        bench-report bench-cost \
        fuzz fuzz-check

all: build

deps:
	@sh .ci/install-packages $(BUILD_PKGS)

test-deps:
	@sh .ci/install-packages $(BUILD_PKGS) $(TEST_PKGS)

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_SETUP_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# make install [PREFIX=/usr/local] [DESTDIR=DIR]: meson install of the build folder (binary, man
# pages, shell completion, documentation) into DESTDIR/PREFIX. PREFIX, when given, becomes the
# build folder's prefix (meson configure); DESTDIR is a staging root (packages). make uninstall
# removes what the last install of the build folder put in place (meson's install log).
PREFIX ?=
DESTDIR ?=

install: build
	$(if $(PREFIX),meson configure $(BUILD) -Dprefix=$(abspath $(PREFIX)))
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))

uninstall:
	ninja -C $(BUILD) uninstall

# make package: the Debian package (debian/, dh with meson), in the folder above this one as
# dpkg-buildpackage does. mbedTLS 3.6 comes from the build folder's prefix when meson fetched it
# there, else the package's own build fetches it. make test-package builds the package from a
# copy of the tree, installs, uses and removes it, and runs the Dockerfile's make dist line
# (its build folder kept in $(BUILD) for the next run) and checks the binary it unpacks (suite
# package, which a plain meson test leaves out; .ci/run calls it).
PACKAGE_MBEDTLS = $(if $(wildcard $(BUILD)/mbedtls/root/usr),$(abspath $(BUILD))/mbedtls/root/usr)

package: deps
	@sh .ci/install-packages $(PACKAGE_PKGS)
	CAPROBE_MBEDTLS_PREFIX=$(PACKAGE_MBEDTLS) dpkg-buildpackage -b -us -uc

test-package: test-deps $(BUILD)/build.ninja
	@sh .ci/install-packages $(PACKAGE_PKGS)
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --suite package --logbase testlog-package

# make dist: $(DIST_BUILD)/caprobe-VERSION-linux-ARCH.tar.gz, one binary that needs nothing but
# glibc (libuv, c-ares, jansson, libyaml, libsodium and mbedTLS linked statically: -Dprefer_static=true,
# Debian's -dev packages ship the .a files), stripped, with its man pages, completion and docs
# laid out as under /usr/local. Its own build folder; mbedTLS from the main build when it was
# fetched there (DIST_MESON_OPTS to say otherwise).
DIST_BUILD ?= build-dist
DIST_MESON_OPTS ?= $(SAN_MBEDTLS)

dist: deps
	test -f $(DIST_BUILD)/build.ninja || meson setup $(DIST_BUILD) --prefix=/usr/local \
	    -Dprefer_static=true -Dbuildtype=release -Db_ndebug=true $(DIST_MESON_OPTS)
	ninja -C $(DIST_BUILD) caprobe
	set -e; v=$$(meson introspect --projectinfo $(DIST_BUILD) | \
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])'); \
	name=caprobe-$$v-linux-$$(uname -m); rm -rf $(DIST_BUILD)/stage $(DIST_BUILD)/$$name; \
	meson install -C $(DIST_BUILD) --no-rebuild --strip --destdir stage >/dev/null; \
	mv $(DIST_BUILD)/stage/usr/local $(DIST_BUILD)/$$name; \
	tar -C $(DIST_BUILD) --sort=name --owner=0 --group=0 --numeric-owner \
	    --mtime=@$$(git log -1 --format=%ct 2>/dev/null || echo 0) -czf $(DIST_BUILD)/$$name.tar.gz $$name; \
	echo "$(DIST_BUILD)/$$name.tar.gz: $$(du -k $(DIST_BUILD)/$$name.tar.gz | cut -f1) KiB," \
	    "bin/caprobe $$(du -k $(DIST_BUILD)/$$name/bin/caprobe | cut -f1) KiB"

demo: deps test-deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	sh fixtures/demo.sh $(BUILD)/caprobe $(BUILD)/fixtures/lab/caprobe-lab

test: test-deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs

# Benchmarks: print figures and ratios, never fail on a missed target. fleet.py: a loopback fleet
# against openssl s_client and sslscan (BENCH_ARGS). names.py: host names through the resolver
# stage vs addresses and sslscan, a dead resolver, a /16 sweep (BENCH_NAMES_ARGS; as root it runs
# in a private network + mount namespace). hello.py: TLS 1.2 probes opened with caprobe's own
# ClientHello and with mbedTLS's, in turn (BENCH_HELLO_ARGS). report.py: the HTML report of a
# 10,000-target fleet made from a lab scan, its size and its load and filter times in headless
# Chromium (BENCH_REPORT_ARGS). cost.py: CPU per probe and memory per in-flight probe of TLS 1.2
# and 1.3 (probes held at their fullest by a relay) next to one X25519 operation of openssl speed
# and the X25519 microbenchmark tests/bench/x25519.c (BENCH_COST_ARGS). A smoke run of all five:
# make bench BENCH_ARGS=--quick
BENCH_NAMES_ARGS ?= $(filter --quick,$(BENCH_ARGS))
BENCH_HELLO_ARGS ?= $(filter --quick,$(BENCH_ARGS))
BENCH_REPORT_ARGS ?= $(filter --quick,$(BENCH_ARGS))
BENCH_COST_ARGS ?= $(filter --quick,$(BENCH_ARGS))

bench: build
	@sh .ci/install-packages $(BENCH_PKGS)
	python3 tests/bench/fleet.py --caprobe $(BUILD)/caprobe $(BENCH_ARGS)
	python3 tests/bench/names.py --caprobe $(BUILD)/caprobe $(BENCH_NAMES_ARGS)
	python3 tests/bench/hello.py --caprobe $(BUILD)/caprobe $(BENCH_HELLO_ARGS)
	python3 tests/bench/report.py --caprobe $(BUILD)/caprobe $(BENCH_REPORT_ARGS)
	python3 tests/bench/cost.py --caprobe $(BUILD)/caprobe $(BENCH_COST_ARGS)

bench-names: build
	@sh .ci/install-packages $(BENCH_PKGS)
	python3 tests/bench/names.py --caprobe $(BUILD)/caprobe $(BENCH_NAMES_ARGS)

bench-hello: build
	@sh .ci/install-packages $(BENCH_PKGS)
	python3 tests/bench/hello.py --caprobe $(BUILD)/caprobe $(BENCH_HELLO_ARGS)

bench-report: build
	@sh .ci/install-packages $(BENCH_PKGS)
	python3 tests/bench/report.py --caprobe $(BUILD)/caprobe $(BENCH_REPORT_ARGS)

bench-cost: build
	@sh .ci/install-packages $(BENCH_PKGS)
	python3 tests/bench/cost.py --caprobe $(BUILD)/caprobe $(BENCH_COST_ARGS)

# The unit, fuzz-replay and integration suites once more with AddressSanitizer and UBSan (own
# build folder; mbedTLS from the main build when it was fetched there), and the unit suite under
# valgrind. .ci/run runs both after 'make test'.
SAN_BUILD ?= build-asan
SAN_MBEDTLS = $(if $(wildcard $(BUILD)/mbedtls/root/usr),-Dmbedtls_prefix=$(abspath $(BUILD))/mbedtls/root/usr)

test-sanitize: test-deps $(BUILD)/build.ninja $(SAN_BUILD)/build.ninja
	ninja -C $(SAN_BUILD)
	meson test -C $(SAN_BUILD) --print-errorlogs --suite unit --suite fuzz-replay --suite integration

$(SAN_BUILD)/build.ninja:
	meson setup $(SAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false $(SAN_MBEDTLS)

test-valgrind: test-deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --suite unit --logbase testlog-valgrind --timeout-multiplier 4 \
	    --wrap='valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect'

# libFuzzer campaign: every target of tests/fuzz/ for FUZZ_TIME seconds, FUZZ_JOBS at a time, with
# ASan and UBSan (clang; own build folder). Prints executions and coverage per target; crash
# reproducers land in fixtures/fuzz/<name>/crashes/. FUZZ_MERGE=1 merges new inputs into the
# corpora. A smoke run: make fuzz FUZZ_TIME=10
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 600
FUZZ_JOBS ?= 2
FUZZ_TARGETS ?=

fuzz: deps $(BUILD)/build.ninja
	@sh .ci/install-packages clang
	ninja -C $(BUILD)
	test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing_engine=libfuzzer \
	    -Db_sanitize=address,undefined -Db_lundef=false $(SAN_MBEDTLS)
	ninja -C $(FUZZ_BUILD)
	MERGE=$(FUZZ_MERGE) sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_JOBS) $(FUZZ_TARGETS)

# The fuzzing build must keep building: configure build-fuzz as 'make fuzz' does, build every
# target (the libFuzzer programs and the null-protection library included), run the unit and
# fuzz-replay suites there, and each libFuzzer program once over its saved corpus. No campaign;
# .ci/run calls it.
fuzz-check: deps $(BUILD)/build.ninja
	@sh .ci/install-packages clang
	ninja -C $(BUILD)
	test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing_engine=libfuzzer \
	    -Db_sanitize=address,undefined -Db_lundef=false $(SAN_MBEDTLS)
	ninja -C $(FUZZ_BUILD)
	meson test -C $(FUZZ_BUILD) --print-errorlogs --suite unit --suite fuzz-replay
	for f in tests/fuzz/fuzz_*.c; do n=$$(basename $$f .c); \
	    $(FUZZ_BUILD)/tests/fuzz/$$n -runs=0 fixtures/fuzz/$${n#fuzz_} >/dev/null 2>&1 || \
	    { echo "$$n fails on its corpus"; exit 1; }; done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)
