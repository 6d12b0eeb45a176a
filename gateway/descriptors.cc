#include "gateway/descriptors.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "common/errors.h"

namespace propdesk::gateway {
namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;
using common::Error;
using common::ErrorKind;

[[noreturn]] void Fail(const std::string& message) {
  throw Error(ErrorKind::kInvalidArgument, "BAD_DESCRIPTORS", message);
}

std::vector<std::string> ExpandPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> in_dir;
      for (const fs::directory_entry& entry : fs::directory_iterator(path, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".pb") {
          in_dir.push_back(entry.path().string());
        }
      }
      if (in_dir.empty()) Fail("descriptor directory " + path + " holds no *.pb file");
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
    } else {
      Fail("descriptor set " + path + " does not exist");
    }
  }
  return files;
}

class CollectingErrors : public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name, const pb::Message*,
                ErrorLocation, const std::string& message) override {
    if (!text_.empty()) text_ += "; ";
    text_ += filename + ": " + element_name + ": " + message;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// The file without source info, for comparing two copies of it.
std::string Fingerprint(const pb::FileDescriptorProto& file) {
  pb::FileDescriptorProto copy = file;
  copy.clear_source_code_info();
  std::string bytes;
  copy.SerializeToString(&bytes);
  return bytes;
}

}  // namespace

LoadedDescriptors LoadDescriptorSets(const std::vector<std::string>& paths) {
  if (paths.empty()) Fail("no descriptor set given");
  std::vector<DescriptorSource> sources;
  for (const std::string& file : ExpandPaths(paths)) {
    std::ifstream in(file, std::ios::binary);
    if (!in) Fail("cannot read descriptor set " + file);
    DescriptorSource source{file, {}};
    if (!source.set.ParseFromIstream(&in) || source.set.file_size() == 0) {
      Fail(file +
           " is not a FileDescriptorSet (expected `protoc --descriptor_set_out "
           "--include_imports` output)");
    }
    sources.push_back(std::move(source));
  }
  return BuildDescriptorPool(sources);
}

LoadedDescriptors BuildDescriptorPool(const std::vector<DescriptorSource>& sources) {
  // Every distinct file once, remembering where it came from.
  std::map<std::string, const pb::FileDescriptorProto*> by_name;
  std::map<std::string, std::string> origin_of;
  std::vector<std::string> order;
  for (const DescriptorSource& source : sources) {
    for (const pb::FileDescriptorProto& file : source.set.file()) {
      auto [it, inserted] = by_name.emplace(file.name(), &file);
      if (inserted) {
        origin_of[file.name()] = source.origin;
        order.push_back(file.name());
      } else if (Fingerprint(*it->second) != Fingerprint(file)) {
        Fail(file.name() + " differs between " + origin_of[file.name()] + " and " + source.origin +
             "; rebuild both from the same sources");
      }
    }
  }

  LoadedDescriptors out;
  out.pool = std::make_unique<pb::DescriptorPool>();
  for (const DescriptorSource& source : sources) out.origins.push_back(source.origin);

  // Dependencies first (depth-first), so each BuildFile finds its imports.
  std::set<std::string> built;
  std::set<std::string> visiting;
  std::vector<const pb::FileDescriptor*> files;
  std::function<void(const std::string&, const std::string&)> build =
      [&](const std::string& name, const std::string& importer) {
        if (built.count(name) > 0) return;
        auto it = by_name.find(name);
        if (it == by_name.end()) {
          Fail(importer + " imports " + name +
               ", which no descriptor set holds (build the set "
               "with --include_imports)");
        }
        if (!visiting.insert(name).second) Fail("import cycle through " + name);
        for (const std::string& dependency : it->second->dependency()) build(dependency, name);
        CollectingErrors errors;
        const pb::FileDescriptor* file = out.pool->BuildFileCollectingErrors(*it->second, &errors);
        if (file == nullptr)
          Fail("cannot build " + name + " from " + origin_of[name] + ": " + errors.text());
        files.push_back(file);
        visiting.erase(name);
        built.insert(name);
      };
  for (const std::string& name : order) build(name, origin_of[name]);

  for (const pb::FileDescriptor* file : files) {
    for (int i = 0; i < file->service_count(); ++i) out.services.push_back(file->service(i));
  }
  return out;
}

}  // namespace propdesk::gateway
