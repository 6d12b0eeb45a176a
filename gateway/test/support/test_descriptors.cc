#include "support/test_descriptors.h"

#ifndef PROPDESK_DESCRIPTOR_DIR
#error "PROPDESK_DESCRIPTOR_DIR must name the build's descriptors directory"
#endif

namespace propdesk::gateway::test {

std::string DescriptorPath(const std::string& file) {
  return std::string(PROPDESK_DESCRIPTOR_DIR) + "/" + file;
}

std::vector<std::string> TestingDescriptors() {
  return {DescriptorPath("propdesk_testing.pb"), DescriptorPath("propdesk_testing_transcode.pb")};
}

}  // namespace propdesk::gateway::test
