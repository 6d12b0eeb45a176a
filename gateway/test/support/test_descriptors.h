#pragma once

// Where the build put the descriptor sets the gateway tests load.

#include <string>
#include <vector>

namespace propdesk::gateway::test {

// ${CMAKE_BINARY_DIR}/descriptors/<file>, e.g. "propdesk_tickets.pb".
std::string DescriptorPath(const std::string& file);

// The test services' sets: propdesk_testing.pb and propdesk_testing_transcode.pb.
std::vector<std::string> TestingDescriptors();

}  // namespace propdesk::gateway::test
