import { BrowserRouter, Route, Routes } from "react-router-dom";
import { AuthProvider, useAuth } from "./auth/AuthContext";
import { Loading } from "./components/States";
import { AuditPage } from "./pages/AuditPage";
import { DeploymentPage } from "./pages/DeploymentPage";
import { Layout } from "./pages/Layout";
import { LoginPage } from "./pages/LoginPage";
import { NewDeploymentPage } from "./pages/NewDeploymentPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { OverviewPage } from "./pages/OverviewPage";
import { SwitchHistoryPage } from "./pages/SwitchHistoryPage";
import { TokensPage } from "./pages/TokensPage";

function Gate() {
  const { status } = useAuth();
  if (status === "checking") return <Loading what="your session" />;
  if (status === "signed_out") return <LoginPage />;
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<OverviewPage />} />
        <Route path="deployments/new" element={<NewDeploymentPage />} />
        <Route path="deployments/:name" element={<DeploymentPage />} />
        <Route path="switches" element={<SwitchHistoryPage />} />
        <Route path="audit" element={<AuditPage />} />
        <Route path="tokens" element={<TokensPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}

export function App() {
  return (
    <AuthProvider>
      <BrowserRouter>
        <Gate />
      </BrowserRouter>
    </AuthProvider>
  );
}
