//! A server process killed (SIGKILL) when dropped, so that a failed assertion leaves no server
//! running. For the tests that kill and restart the binary themselves.

pub struct Process(pub std::process::Child);

impl Process {
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}
