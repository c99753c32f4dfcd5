// Module resolution on a fake /lib/modules tree shaped like Debian's: plain
// .ko (6.1) and .ko.xz (6.12) files, modinfo `depends=`, modules.builtin.
#include "vmimages/modules.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/temp_dir.h"

namespace mmdiff::vm {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

class ModulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ + "/kernel/drivers/block");
    fs::create_directories(dir_ + "/kernel/drivers/virtio");
  }

  // A module file whose .modinfo holds `depends=DEPS` between NULs, as the
  // kernel's build writes it.
  void WriteModule(const std::string& rel, const std::string& deps) {
    std::ofstream(dir_ + "/" + rel, std::ios::binary)
        << "\x7f" "ELF junk\0license=GPL\0depends="s << deps << "\0vermagic=x\0"s;
  }
  void Xz(const std::string& rel) { ASSERT_EQ(system(("xz -f '" + dir_ + "/" + rel + "'").c_str()), 0); }

  testutil::TempDir tmp_{"mmdiff-modules-test"};
  std::string dir_ = tmp_.path();
};

TEST_F(ModulesTest, CompressedModulesAndTheirDependenciesInLoadOrder) {
  WriteModule("kernel/drivers/block/virtio_blk.ko", "virtio_ring,virtio");
  WriteModule("kernel/drivers/virtio/virtio_ring.ko", "virtio");
  WriteModule("kernel/drivers/virtio/virtio.ko", "");
  Xz("kernel/drivers/block/virtio_blk.ko");
  Xz("kernel/drivers/virtio/virtio_ring.ko");
  std::vector<std::string> order;
  std::string err;
  ASSERT_TRUE(ModuleLoadOrder(dir_, {"virtio-blk"}, &order, &err)) << err;
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], dir_ + "/kernel/drivers/virtio/virtio.ko");
  EXPECT_EQ(order[1], dir_ + "/kernel/drivers/virtio/virtio_ring.ko.xz");
  EXPECT_EQ(order[2], dir_ + "/kernel/drivers/block/virtio_blk.ko.xz");

  // The guest gets the plain module under its plain name.
  std::string data, name;
  ASSERT_TRUE(ReadModule(order[2], &data, &name, &err)) << err;
  EXPECT_EQ(name, "virtio_blk.ko");
  EXPECT_EQ(data.rfind("\x7f" "ELF", 0), 0u);
  EXPECT_NE(data.find("\0depends=virtio_ring,virtio\0"s), std::string::npos);
}

TEST_F(ModulesTest, BuiltinModulesAreNotLoaded) {
  WriteModule("kernel/drivers/block/virtio_blk.ko", "virtio");
  std::ofstream(dir_ + "/modules.builtin") << "kernel/drivers/virtio/virtio.ko\nkernel/drivers/char/virtio_console.ko\n";
  std::vector<std::string> order;
  std::string err;
  ASSERT_TRUE(ModuleLoadOrder(dir_, {"virtio_console", "virtio_blk"}, &order, &err)) << err;
  ASSERT_EQ(order.size(), 1u);
  EXPECT_EQ(order[0], dir_ + "/kernel/drivers/block/virtio_blk.ko");
}

// Nothing to load needs no modules at all (the tree is not walked).
TEST_F(ModulesTest, AllBuiltinNeedsNoModuleFiles) {
  std::ofstream(dir_ + "/modules.builtin") << "kernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/char/virtio_console.ko\n";
  std::vector<std::string> order;
  std::string err;
  ASSERT_TRUE(ModuleLoadOrder(dir_, {"virtio_pci", "virtio-console"}, &order, &err)) << err;
  EXPECT_TRUE(order.empty());
}

TEST_F(ModulesTest, MissingModuleIsNamed) {
  WriteModule("kernel/drivers/block/virtio_blk.ko", "virtio");
  std::vector<std::string> order;
  std::string err;
  EXPECT_FALSE(ModuleLoadOrder(dir_, {"virtio_blk"}, &order, &err));
  EXPECT_EQ(err, "module virtio not found");
}

TEST_F(ModulesTest, CorruptCompressedModuleIsAnError) {
  std::ofstream(dir_ + "/kernel/drivers/block/virtio_blk.ko.xz") << "not xz";
  std::vector<std::string> order;
  std::string err;
  EXPECT_FALSE(ModuleLoadOrder(dir_, {"virtio_blk"}, &order, &err));
  EXPECT_NE(err.find("cannot decompress module"), std::string::npos) << err;
}

}  // namespace
}  // namespace mmdiff::vm
