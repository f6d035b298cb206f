#pragma once

// The wire "type" of each Request alternative, in the variant's order.

#include <commy/protocol/messages.h>

#include <array>
#include <variant>

namespace commy::protocol::detail {

inline constexpr std::array kRequestTypeNames {
    "Authenticate",
    "Logout",
    "RefreshToken",
    "Heartbeat",
    "CreateTenant",
    "DeleteTenant",
    "ListTenants",
    "CreateKey",
    "RevokeKey",
    "ListKeys",
    "CreateService",
    "GetService",
    "DeleteService",
    "ListServices",
    "AllocateVariable",
    "WriteVariable",
    "ReadVariable",
    "DeallocateVariable",
    "ListVariables",
    "Subscribe",
    "Unsubscribe",
    "GetServiceFilePath",
    "CreateUser",
    "DeleteUser",
    "GetBrokerInfo",
    "GetTree",
    "GetRegionStats",
    "GetBlockMap",
    "GetProcesses",
    "GetSessions",
    "BrowseRoot",
    "Watch",
    "ResizeRegion",
    "ShrinkRegion",
    "CleanupRegion",
};
static_assert(kRequestTypeNames.size() == std::variant_size_v<Request>);

} // namespace commy::protocol::detail
