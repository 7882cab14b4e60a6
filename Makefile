# Hamyar — build, test, run.
#
#   make run     install what is missing, build, start every service and the gateway on loopback
#   make test    install, build, run unit + integration tests, then again under ASan+UBSan
#   make bench   benchmarks (figures, not pass/fail)      make soak   long fault-injection runs
#
# Objects go to build/<variant>/ (release or asan) so both variants coexist.

# Every folder of services/ with a main.c is a service: adding one needs no edit here.
# Build in parallel on every core (2 on CI).
MAKEFLAGS += --jobs=$(shell nproc 2>/dev/null || echo 2)

SERVICES  ?= $(sort $(patsubst services/%/main.c,%,$(wildcard services/*/main.c)))
CC        ?= gcc
VARIANT   ?= release
B         ?= build/$(VARIANT)
CPPFLAGS  := -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Ishared -Igateway
WARN      := -std=c11 -Wall -Wextra -Werror
ifeq ($(VARIANT),asan)
OPT       := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
OPT       := -O2 -g
endif
CFLAGS    := $(WARN) $(OPT)
comma     := ,
LDFLAGS   := $(if $(filter asan,$(VARIANT)),-fsanitize=address$(comma)undefined)
# The programs allocate through jemalloc (Redis's allocator): a registration or an imported row
# is hundreds of small jansson allocations, and glibc's malloc spent a third of the registry
# writer's CPU on them. `make build MALLOC=` builds with glibc's, to compare; ASan keeps its own.
MALLOC    ?= -ljemalloc
LDLIBS    := -lzmq -llmdb -ljansson -lsodium -lpthread $(if $(filter asan,$(VARIANT)),,$(MALLOC))

SHARED_SRC  := $(wildcard shared/*.c)
SHARED_OBJ  := $(SHARED_SRC:%.c=$(B)/%.o)
GATEWAY_SRC := $(filter-out gateway/main.c,$(wildcard gateway/*.c))
GATEWAY_OBJ := $(GATEWAY_SRC:%.c=$(B)/%.o)
# A service's objects: every .c of its folder but main.c (which only wires it up).
svc_obj = $(patsubst %.c,$(B)/%.o,$(filter-out services/$(1)/main.c,$(wildcard services/$(1)/*.c)))
SERVICE_OBJ := $(foreach s,$(SERVICES),$(call svc_obj,$(s)))

FUNDSYNC_SRC := $(wildcard tools/fund-sync/*.c)
BINS := $(B)/bin/hamyar-gateway $(B)/bin/hamyarctl $(B)/bin/unit-tests \
        $(foreach s,$(SERVICES),$(B)/bin/hamyar-$(s)) \
        $(if $(FUNDSYNC_SRC),$(B)/bin/hamyar-fund-sync)

.PHONY: all build deps run test test-unit test-integration test-swarm bench soak clean check-deps
all: build
build: $(BINS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/libhamyar.a: $(SHARED_OBJ)
	@rm -f $@
	ar rcs $@ $^

define service_rule
$(B)/bin/hamyar-$(1): $(B)/services/$(1)/main.o $(call svc_obj,$(1)) $(B)/libhamyar.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

# The gateway links no service code: it builds its routes from what the services announce.
$(B)/bin/hamyar-gateway: $(B)/gateway/main.o $(GATEWAY_OBJ) $(B)/libhamyar.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lmicrohttpd -lz $(LDLIBS)

CTL_SRC := $(wildcard tools/hamyarctl/*.c)
$(B)/bin/hamyarctl: $(CTL_SRC:%.c=$(B)/%.o) $(B)/gateway/keys.o $(B)/libhamyar.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The insurance fund's consumer: a program of its own, built from tools/fund-sync/.
FUNDSYNC_LIB := $(filter-out tools/fund-sync/main.c,$(FUNDSYNC_SRC))
$(B)/bin/hamyar-fund-sync: $(FUNDSYNC_SRC:%.c=$(B)/%.o) $(B)/libhamyar.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcurl $(LDLIBS)

# A service's unit tests (tests/unit/test_NAME.c) are built only with the service itself.
ALL_SERVICE_DIRS := $(patsubst services/%/main.c,%,$(wildcard services/*/main.c))
UNIT_SRC := $(filter-out $(ALL_SERVICE_DIRS:%=tests/unit/test_%.c),$(wildcard tests/unit/*.c)) \
            $(wildcard $(SERVICES:%=tests/unit/test_%.c))
$(B)/bin/unit-tests: $(UNIT_SRC:%.c=$(B)/%.o) $(SERVICE_OBJ) $(GATEWAY_OBJ) $(FUNDSYNC_LIB:%.c=$(B)/%.o) $(B)/libhamyar.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lmicrohttpd -lz -lcurl $(LDLIBS)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# ---- installing what is missing (Debian 12, as root) -------------------------------------------
deps:
	@tools/install-deps.sh

# ---- running -------------------------------------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory build
	@tools/run.sh build/release

# ---- tests ---------------------------------------------------------------------------------------
# Unit and integration tests run twice: release build, then ASan+UBSan; then the container suite
# (tests/containers). tools/test.sh prints the closing "N passed, N failed" line over all.
test: deps
	@$(MAKE) --no-print-directory build VARIANT=release
	@$(MAKE) --no-print-directory build VARIANT=asan
	@tools/test.sh

# The Swarm parts of the container suite alone (tests/containers: its own dockerd, the image
# built from the tree; a one-node Swarm, then three nodes that are containers running engines).
test-swarm: deps
	@HY_TEST_ONLY=swarm tools/test.sh containers

test-unit: build
	$(B)/bin/unit-tests

bench: deps
	@$(MAKE) --no-print-directory build VARIANT=release
	@bench/run.sh

soak: deps
	@$(MAKE) --no-print-directory build VARIANT=release
	@HY_SOAK=1 tools/test.sh integration

clean:
	rm -rf build
