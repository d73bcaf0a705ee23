#pragma once
// Shared by the Vulkan suites: the validated instance they run on and the probe job.
#include "backends/vulkan/vk_device.h"

#include <memory>
#include <string>
#include <vector>

namespace vktest {

/// An instance with QS_VULKAN_VALIDATION=1; an error "no Vulkan device: ..." means skip.
qs::core::Result<std::shared_ptr<const qs::backends::vulkan::Instance>> validatedInstance();

/// Words of the probe's input: a fixed 32-bit LCG (Numerical Recipes constants), so that
/// every word differs and a missed or repeated word changes the sum.
std::vector<uint32_t> lcgWords(size_t n);

/// The host's sum of `words` modulo 2^32 (what the probe computes on the device).
uint32_t hostSum(const std::vector<uint32_t>& words);

/// Runs the read-bandwidth probe over `words` with `groups` workgroups on `device`; the sum
/// of the workgroups' partials, and the dispatch's timings in `timing` when given.
qs::core::Result<uint32_t> probe(qs::backends::vulkan::Device& device, const std::string& shader,
                                 const std::vector<uint32_t>& words, uint32_t groups,
                                 qs::backends::vulkan::DispatchTiming* timing = nullptr);

/// Every message the validation layer reported on `instance`, one per line ("" when none).
std::string validationText(const qs::backends::vulkan::Instance& instance);

/// What the kernel suites run on: a validated instance and a device on the default physical
/// device (lavapipe in CI).
struct Fixture {
    std::shared_ptr<const qs::backends::vulkan::Instance> instance;
    std::unique_ptr<qs::backends::vulkan::Device> device;
};

/// Opens the fixture. False with `skip` set ("no Vulkan device: ...") when no driver or device
/// is installed -- the one case a suite skips -- and false with `error` set on any other failure.
bool openFixture(Fixture& f, std::string& skip, std::string& error);

/// Every validation message reported on `f`'s instance ("" when none or not opened).
std::string fixtureMessages(const Fixture& f);

} // namespace vktest

/// In a Qt Test suite's initTestCase: opens `f` (openFixture), skipping where no Vulkan driver
/// is installed and failing on any other error.
#define VKTEST_OPEN_FIXTURE(f)                                                                     \
    do {                                                                                           \
        std::string vkSkip_, vkError_;                                                             \
        if (!vktest::openFixture(f, vkSkip_, vkError_)) {                                          \
            if (!vkSkip_.empty()) QSKIP(vkSkip_.c_str());                                          \
            QFAIL(vkError_.c_str());                                                               \
        }                                                                                          \
    } while (false)

/// Fails the calling test when the validation layer has reported anything on `f`'s instance.
#define VKTEST_NO_VALIDATION_MESSAGES(f)                                                           \
    do {                                                                                           \
        const std::string vkText_ = vktest::fixtureMessages(f);                                    \
        QVERIFY2(vkText_.empty(), vkText_.c_str());                                                \
    } while (false)

namespace vktest {

} // namespace vktest
